"""What the citizen's tracking page says, Thai first (merged into ``i18n.MESSAGES``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "th": {
        "track_title": "ติดตามสถานะคำขอ",
        "track_intro": "ตรวจสอบความคืบหน้าของคำขออนุญาตที่ท่านยื่นต่อหน่วยงานของรัฐ "
                       "และหนังสือแจ้งที่หน่วยงานส่งถึงท่าน",
        "track_no": "เลขที่คำขอ",
        "track_no_hint": "ตามที่ปรากฏในหนังสือแจ้ง SMS หรือใบรับคำขอ เช่น ทบ.2569/00001",
        "track_factor": "รหัสติดตามคำขอ หรือข้อมูลยืนยันตัวตน",
        "track_factor_hint": "ใส่อย่างใดอย่างหนึ่ง: รหัสติดตามคำขอ 8 ตัวที่พิมพ์ในหนังสือแจ้ง (เช่น K7M2-XT9P) "
                             "เลข 4 ตัวท้ายของโทรศัพท์มือถือที่ให้ไว้ในคำขอ หรือเลขประจำตัวประชาชน 13 หลัก",
        "track_button": "ตรวจสอบสถานะ",
        "track_privacy": "ข้อมูลส่วนบุคคลแสดงแบบปกปิดบางส่วน ระบบไม่เก็บเลขประจำตัวประชาชนที่ท่านกรอก "
                         "และจำกัดจำนวนครั้งที่ตรวจสอบไม่สำเร็จ",
        "track_no_required": "กรุณาระบุเลขที่คำขอ",
        "track_factor_required": "กรุณาระบุรหัสติดตามคำขอ เลข 4 ตัวท้ายของโทรศัพท์มือถือ หรือเลขประจำตัวประชาชน",
        "track_factor_invalid": "กรุณาระบุรหัสติดตามคำขอ 8 ตัว เลข 4 ตัวท้ายของโทรศัพท์มือถือ "
                                "หรือเลขประจำตัวประชาชน 13 หลัก",
        "track_nid_invalid": "เลขประจำตัวประชาชนไม่ถูกต้อง กรุณาตรวจสอบอีกครั้ง",
        "track_not_found": "ไม่พบคำขอที่ตรงกับข้อมูลที่ระบุ กรุณาตรวจสอบเลขที่คำขอ "
                           "และรหัสติดตามคำขอหรือข้อมูลยืนยันตัวตนอีกครั้ง",
        "track_limited": "ตรวจสอบไม่สำเร็จหลายครั้งเกินไป กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่",
        "track_limited_hours": "ตรวจสอบไม่สำเร็จหลายครั้งเกินไป กรุณารอประมาณ {hours} ชั่วโมงแล้วลองใหม่",
        "track_section10_title": "เกี่ยวกับหนังสือแจ้งความล่าช้า",
        "track_section10": "ตามมาตรา 10 แห่งพระราชบัญญัติการอำนวยความสะดวกในการพิจารณาอนุญาตของทางราชการ พ.ศ. 2558 "
                           "หากหน่วยงานพิจารณาคำขอไม่แล้วเสร็จภายในระยะเวลาที่กำหนดในคู่มือสำหรับประชาชน "
                           "ต้องแจ้งเหตุแห่งความล่าช้าให้ผู้ยื่นคำขอทราบทุก 7 วันจนกว่าจะพิจารณาแล้วเสร็จ "
                           "พร้อมส่งสำเนาให้สำนักงาน ก.พ.ร. ทราบทุกครั้ง",
        # the result
        "track_result_title": "สถานะคำขอเลขที่ {no}",
        "track_status": "สถานะ",
        "track_status_received": "ได้รับคำขอแล้ว",
        "track_status_in_progress": "อยู่ระหว่างพิจารณา",
        "track_status_waiting_applicant": "รอเอกสารหรือข้อมูลเพิ่มเติมจากผู้ยื่นคำขอ",
        "track_status_completed": "พิจารณาแล้วเสร็จ: อนุญาต/อนุมัติ",
        "track_status_rejected": "พิจารณาแล้วเสร็จ: ไม่อนุญาต/ไม่อนุมัติ",
        "track_status_withdrawn": "ถอนคำขอแล้ว",
        "track_agency": "หน่วยงาน",
        "track_process": "กระบวนงาน",
        "track_submitted_on": "วันที่ยื่นคำขอ",
        "track_due_on": "กำหนดแล้วเสร็จตามคู่มือสำหรับประชาชน",
        "track_no_due": "ยังไม่มีกำหนด (รอเอกสารหรือข้อมูลจากผู้ยื่นคำขอ)",
        "track_completed_on": "วันที่พิจารณาแล้วเสร็จ",
        "track_lateness": "ความล่าช้า",
        "track_days_late": "ล่าช้ากว่ากำหนด {n} วัน",
        "track_not_late": "ไม่ล่าช้า",
        "track_applicant": "ผู้ยื่นคำขอ (แสดงแบบปกปิด)",
        "track_applicant_name": "ชื่อ",
        "track_applicant_phone": "โทรศัพท์มือถือ",
        "track_applicant_email": "อีเมล",
        "track_applicant_national_id": "เลขประจำตัวประชาชน",
        "track_notices_title": "หนังสือแจ้งที่ส่งถึงท่าน",
        "track_notices_none": "ยังไม่มีหนังสือแจ้งที่ส่งถึงท่าน",
        "track_notice_delay": "แจ้งเหตุแห่งความล่าช้า ครั้งที่ {n}",
        "track_notice_result": "แจ้งผลการพิจารณา",
        "track_sent_via": "ส่งทาง{channel} วันที่ {date}",
        "track_channel_email": "อีเมล",
        "track_channel_sms": "ข้อความ SMS",
        "track_channel_letter": "ไปรษณีย์",
        "track_sent_late": "ส่งช้ากว่ากำหนด {n} วัน",
        "track_letter_th": "ดาวน์โหลด PDF",
        "track_letter_en": "คำแปลภาษาอังกฤษ (PDF)",
        "track_links_expire": "ลิงก์ในหน้านี้ใช้ได้ {minutes} นาที หลังจากนั้นกรุณาตรวจสอบสถานะอีกครั้ง",
        "track_contact": "สอบถามเพิ่มเติมที่{agency} โทร. {phone}",
        "track_again": "ตรวจสอบคำขออื่น",
        "track_expired_title": "ลิงก์หมดอายุ",
        "track_expired_body": "ลิงก์นี้หมดอายุหรือไม่ถูกต้อง กรุณาตรวจสอบสถานะคำขออีกครั้ง",
    },
    "en": {
        "track_title": "Follow your application",
        "track_intro": "Check the progress of a licence or permit application you made to a government agency, "
                       "and the notices the agency sent you",
        "track_no": "Application number",
        "track_no_hint": "As on the notice, the SMS or your receipt, e.g. ทบ.2569/00001",
        "track_factor": "Tracking code or proof of identity",
        "track_factor_hint": "Any one of: the 8-character tracking code printed on the notice (e.g. K7M2-XT9P), "
                             "the last 4 digits of the mobile number given in the application, or your 13-digit "
                             "national ID number",
        "track_button": "Check the status",
        "track_privacy": "Personal data is shown partly hidden. The national ID number you enter is not kept, and "
                         "failed attempts are limited",
        "track_no_required": "Enter the application number",
        "track_factor_required": "Enter the tracking code, the last 4 digits of your mobile number or your national "
                                 "ID number",
        "track_factor_invalid": "Enter the 8-character tracking code, the last 4 digits of your mobile number or "
                                "your 13-digit national ID number",
        "track_nid_invalid": "This national ID number is not valid: check it and try again",
        "track_not_found": "No application matches what you entered. Check the application number and the "
                           "tracking code or proof of identity, and try again",
        "track_limited": "Too many failed attempts: wait about {minutes} minutes and try again",
        "track_limited_hours": "Too many failed attempts: wait about {hours} hours and try again",
        "track_section10_title": "About delay notices",
        "track_section10": "Under section 10 of the Licensing Facilitation Act B.E. 2558 (2015), when an agency "
                           "has not decided an application within the time set in its Citizen's Manual, it must "
                           "tell the applicant the reason for the delay every 7 days until it decides, with a "
                           "copy to the Office of the Public Sector Development Commission",
        "track_result_title": "Application {no}",
        "track_status": "Status",
        "track_status_received": "Received",
        "track_status_in_progress": "Being considered",
        "track_status_waiting_applicant": "Waiting for documents or information from the applicant",
        "track_status_completed": "Decided: approved",
        "track_status_rejected": "Decided: not approved",
        "track_status_withdrawn": "Withdrawn",
        "track_agency": "Agency",
        "track_process": "Process",
        "track_submitted_on": "Submitted on",
        "track_due_on": "Due under the Citizen's Manual",
        "track_no_due": "Not set yet (waiting for documents or information from the applicant)",
        "track_completed_on": "Decided on",
        "track_lateness": "Delay",
        "track_days_late": "{n} days past the due date",
        "track_not_late": "Not late",
        "track_applicant": "Applicant (partly hidden)",
        "track_applicant_name": "Name",
        "track_applicant_phone": "Mobile",
        "track_applicant_email": "Email",
        "track_applicant_national_id": "National ID",
        "track_notices_title": "Notices sent to you",
        "track_notices_none": "No notice has been sent to you yet",
        "track_notice_delay": "Reason for delay, notice {n}",
        "track_notice_result": "Result of the consideration",
        "track_sent_via": "By {channel} on {date}",
        "track_channel_email": "email",
        "track_channel_sms": "SMS",
        "track_channel_letter": "post",
        "track_sent_late": "Sent {n} days later than due",
        "track_letter_th": "Download PDF (Thai)",
        "track_letter_en": "English translation (PDF)",
        "track_links_expire": "The links on this page work for {minutes} minutes; after that, check the status again",
        "track_contact": "Enquiries: {agency}, tel. {phone}",
        "track_again": "Check another application",
        "track_expired_title": "This link has expired",
        "track_expired_body": "This link has expired or is not valid. Check the status of your application again",
    },
}
