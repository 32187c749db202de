"""What the survey page says, Thai first (merged into ``i18n.MESSAGES``). The questions' own wording comes
from data/survey/ (each set in Thai and English)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "th": {
        "survey_title": "แบบประเมินความพึงพอใจต่อการบริการ",
        "survey_intro": "ขอบคุณที่ใช้บริการ{agency} โปรดบอกเราว่าการบริการเป็นอย่างไร ใช้เวลาประมาณ 1 นาที",
        "survey_service": "บริการ",
        "survey_visit_on": "วันที่รับบริการ",
        "survey_until": "ตอบได้ถึงวันที่ {date}",
        "survey_anonymous": "คำตอบของท่านไม่ระบุตัวตน ระบบไม่เก็บคำตอบไว้กับชื่อ หมายเลขโทรศัพท์ หรือเลขประจำตัวประชาชน "
                            "ของท่าน หากพิมพ์หมายเลขโทรศัพท์ อีเมล หรือเลขประจำตัวประชาชนในช่องข้อเสนอแนะ "
                            "ระบบจะปกปิดก่อนบันทึก",
        "survey_scale_1": "1 น้อยที่สุด",
        "survey_scale_2": "2 น้อย",
        "survey_scale_3": "3 ปานกลาง",
        "survey_scale_4": "4 มาก",
        "survey_scale_5": "5 มากที่สุด",
        "survey_required": "(จำเป็น)",
        "survey_optional": "(ไม่บังคับ)",
        "survey_yes": "ใช่",
        "survey_no": "ไม่ใช่",
        "survey_text_hint": "ไม่เกิน {n} ตัวอักษร",
        "survey_agency_questions": "คำถามเพิ่มเติมจากหน่วยงาน",
        "survey_submit": "ส่งแบบประเมิน",
        "survey_err_required": "กรุณาตอบข้อ: {question}",
        "survey_err_invalid": "กรุณาเลือกคำตอบจากตัวเลือกที่มีให้ ข้อ: {question}",
        "survey_err_too_long": "ข้อความยาวเกิน {n} ตัวอักษร ข้อ: {question}",
        "survey_thanks_title": "ขอบคุณสำหรับความคิดเห็น",
        "survey_thanks_body": "บันทึกคำตอบของท่านแล้ว ความคิดเห็นของท่านช่วยให้หน่วยงานของรัฐปรับปรุงการบริการ",
        "survey_answered_title": "ท่านตอบแบบประเมินนี้แล้ว",
        "survey_answered_body": "แบบประเมินแต่ละชุดตอบได้ครั้งเดียว และระบบบันทึกคำตอบไว้แล้ว ขอบคุณที่สละเวลาให้ความคิดเห็น",
        "survey_expired_title": "ลิงก์แบบประเมินหมดอายุแล้ว",
        "survey_expired_body": "ลิงก์แบบประเมินใช้ได้ภายในระยะเวลาที่กำหนดหลังรับบริการ และขณะนี้หมดอายุแล้ว "
                               "ขอบคุณที่ท่านสนใจให้ความคิดเห็น",
        "survey_unknown_title": "ไม่พบแบบประเมิน",
        "survey_unknown_body": "ไม่พบแบบประเมินของลิงก์นี้ กรุณาตรวจสอบว่าเปิดลิงก์จาก SMS อีเมล หรือ QR code ครบทุกตัวอักษร",
        "survey_not_yet_title": "โปรดตอบหลังรับบริการ",
        "survey_not_yet_body": "แบบประเมินนี้เปิดให้ตอบเมื่อท่านรับบริการเสร็จแล้ว กรุณาสแกน QR code อีกครั้งหลังรับบริการ",
        "survey_limited_title": "เปิดแบบประเมินถี่เกินไป",
        "survey_limited_body": "มีการเปิดหรือส่งแบบประเมินจากเครื่องนี้ถี่เกินไป กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่",
        # on the queue's booking pages and the walk-in ticket
        "survey_consent_label": "ยินยอมให้ส่ง SMS สอบถามความพึงพอใจหลังรับบริการ",
        "survey_consent_hint": "ไม่บังคับ ส่งเพียงครั้งเดียว คำตอบไม่ระบุตัวตน",
        "survey_ticket_qr": "ประเมินความพึงพอใจ สแกนหลังรับบริการ",
    },
    "en": {
        "survey_title": "How was our service?",
        "survey_intro": "Thank you for using the services of {agency}. Please tell us how it went: it takes about "
                        "a minute.",
        "survey_service": "Service",
        "survey_visit_on": "Date of service",
        "survey_until": "Open until {date}",
        "survey_anonymous": "Your answer is anonymous: it is not kept with your name, phone number or national ID. "
                            "Phone numbers, email addresses and national ID numbers typed into the comment are "
                            "masked before it is saved.",
        "survey_scale_1": "1 Very poor",
        "survey_scale_2": "2 Poor",
        "survey_scale_3": "3 Fair",
        "survey_scale_4": "4 Good",
        "survey_scale_5": "5 Very good",
        "survey_required": "(required)",
        "survey_optional": "(optional)",
        "survey_yes": "Yes",
        "survey_no": "No",
        "survey_text_hint": "At most {n} characters",
        "survey_agency_questions": "The agency's own questions",
        "survey_submit": "Send",
        "survey_err_required": "Please answer: {question}",
        "survey_err_invalid": "Please pick one of the answers given: {question}",
        "survey_err_too_long": "Please keep it within {n} characters: {question}",
        "survey_thanks_title": "Thank you for your feedback",
        "survey_thanks_body": "Your answer is saved. It helps government agencies improve their services.",
        "survey_answered_title": "You have already answered this survey",
        "survey_answered_body": "Each survey can be answered once, and your answer is already saved. Thank you for "
                                "your time.",
        "survey_expired_title": "This survey link has expired",
        "survey_expired_body": "Survey links work for a set time after the service, and this one has run out. "
                               "Thank you for wanting to give your view.",
        "survey_unknown_title": "Survey not found",
        "survey_unknown_body": "There is no survey at this link. Please check that the whole link from the SMS, "
                               "email or QR code was opened.",
        "survey_not_yet_title": "Please answer after your visit",
        "survey_not_yet_body": "This survey opens once you have been served. Please scan the QR code again after "
                               "your visit.",
        "survey_limited_title": "Too many attempts",
        "survey_limited_body": "Surveys were opened or sent from this device too often. Please wait about "
                               "{minutes} minutes and try again.",
        "survey_consent_label": "Text me once after my visit to ask how the service was",
        "survey_consent_hint": "Optional; one SMS; answers are anonymous",
        "survey_ticket_qr": "Rate our service: scan after your visit",
    },
}
